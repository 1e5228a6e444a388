# tests/tracers/specs.sh — the probe set the tracer tests fire (sourced).
# Three providers at once: every integer width and signedness in every
# register position, 0 to 12 arguments of mixed types, and strings
# (including the empty string).
SPECS=(
  ints:i8:int8_t,int8_t,int8_t,int8_t,int8_t,int8_t
  ints:u8:uint8_t,uint8_t,uint8_t,uint8_t,uint8_t,uint8_t
  ints:i16:int16_t,int16_t,int16_t,int16_t,int16_t,int16_t
  ints:u16:uint16_t,uint16_t,uint16_t,uint16_t,uint16_t,uint16_t
  ints:i32:int32_t,int32_t,int32_t,int32_t,int32_t,int32_t
  ints:u32:uint32_t,uint32_t,uint32_t,uint32_t,uint32_t,uint32_t
  ints:i64:int64_t,int64_t,int64_t,int64_t,int64_t,int64_t
  ints:u64:uint64_t,uint64_t,uint64_t,uint64_t,uint64_t,uint64_t
  ints:cint:int,long,unsigned\ long,uintptr_t,void\ *,int
  counts:a0:-
  counts:a1:int
  counts:a2:int,char\ *
  counts:a3:int8_t,uint16_t,char\ *
  counts:a4:int,int,int,int
  counts:a5:uint64_t,int32_t,char\ *,int16_t,uint8_t
  counts:a6:long,char\ *,int,char\ *,uint32_t,int8_t
  counts:a7:int,int,int,int,int,int,int8_t
  counts:a8:int,int,int,int,int,int,uint16_t,int64_t
  counts:a9:int,int,int,int,int,int,char\ *,int32_t,uint8_t
  counts:a10:int,int,int,int,int,int,int8_t,uint8_t,int16_t,uint16_t
  counts:a11:int,int,int,int,int,int,int32_t,uint32_t,int64_t,uint64_t,char\ *
  counts:a12:int8_t,uint8_t,int16_t,uint16_t,int32_t,uint32_t,int64_t,uint64_t,char\ *,long,unsigned\ long,char\ *
  strs:s:char\ *,char\ *,char\ *,char\ *,char\ *,char\ *
)
