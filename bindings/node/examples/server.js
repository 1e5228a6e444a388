// An HTTP server with dtrace-provider style probes; trace it with bpftrace (see README.md).
const http = require('http');
const d = require('libusdt');               // or require('dtrace-provider') installed as an alias

const dtp = d.createDTraceProvider('myserver');
const start = dtp.addProbe('request-start', 'int', 'char *');
const done = dtp.addProbe('request-done', 'int', 'int', 'json');
dtp.enable();

let id = 0;
http.createServer((req, res) => {
  const rid = ++id;
  const t0 = process.hrtime.bigint();
  start.fire(() => [rid, `${req.method} ${req.url}`]);   // the callback runs only when traced
  res.end('hello\n');
  dtp.fire('request-done', () => [rid, res.statusCode,
    { url: req.url, us: Number(process.hrtime.bigint() - t0) / 1000 }]);
}).listen(8080, () => console.log(`pid ${process.pid}, listening on :8080`));
