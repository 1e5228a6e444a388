/*
 * benchlib.c — libbenchlib.so, the floor of any call into a shared library
 * for bench/untraced.c: an exported function that does nothing with its
 * two arguments, reached through the PLT exactly like usdt_fire_probe() is
 * reached in a program linked with -lusdt.
 */
__attribute__((visibility("default"))) void bench_lib_empty2(long a, long b);
__attribute__((visibility("default"))) int bench_lib_empty1(void *p);

void bench_lib_empty2(long a, long b)
{
	__asm__ volatile("" : : "r"(a), "r"(b));
}

int bench_lib_empty1(void *p)
{
	__asm__ volatile("" : : "r"(p));
	return 0;
}
