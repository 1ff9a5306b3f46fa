#!/usr/bin/env python3
"""git http-backend behind Python's CGI server on 127.0.0.1:PORT, serving ROOT.

git sends large requests (a fetch negotiating over diverged branches, a big push) with
`Transfer-Encoding: chunked` and often `Content-Encoding: gzip`; Python's CGI handler only reads
Content-Length bodies and passes no Content-Encoding to the script, so those are de-chunked and
decompressed here first, as a real web server in front of http-backend would, and handed to the CGI process through a
pipe (it reads its standard input from a file descriptor)."""
import gzip, http.server, os, sys, threading

port, root = int(sys.argv[1]), sys.argv[2]
www = os.path.join(root, "www")
os.makedirs(os.path.join(www, "cgi-bin"), exist_ok=True)
script = os.path.join(www, "cgi-bin", "git")
with open(script, "w") as f:
    f.write("#!/bin/sh\nexport GIT_PROJECT_ROOT='%s' GIT_HTTP_EXPORT_ALL=1 REMOTE_USER=bench\nexec git -c safe.directory='*' http-backend\n" % root)
os.chmod(script, 0o755)
os.chdir(www)
http.server.nobody_uid = lambda: os.getuid()


class Handler(http.server.CGIHTTPRequestHandler):
    def do_POST(self):
        chunked = self.headers.get("Transfer-Encoding", "").lower() == "chunked"
        gzipped = self.headers.get("Content-Encoding", "").lower() == "gzip"
        if chunked or gzipped:
            if chunked:
                body = bytearray()
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        break
                    body += self.rfile.read(size)
                    self.rfile.readline()
                del self.headers["Transfer-Encoding"]
            else:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if gzipped:
                body = gzip.decompress(bytes(body))
                del self.headers["Content-Encoding"]
            del self.headers["Content-Length"]
            self.headers["Content-Length"] = str(len(body))
            read_end, write_end = os.pipe()

            def feed():
                with os.fdopen(write_end, "wb") as pipe:
                    pipe.write(body)

            threading.Thread(target=feed, daemon=True).start()
            self.rfile = os.fdopen(read_end, "rb")
        super().do_POST()


http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
