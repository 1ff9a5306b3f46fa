#!/usr/bin/env python3
"""git http-backend behind Python's CGI server on 127.0.0.1:PORT, serving ROOT."""
import http.server, os, sys

port, root = int(sys.argv[1]), sys.argv[2]
www = os.path.join(root, "www")
os.makedirs(os.path.join(www, "cgi-bin"), exist_ok=True)
script = os.path.join(www, "cgi-bin", "git")
with open(script, "w") as f:
    f.write("#!/bin/sh\nexport GIT_PROJECT_ROOT='%s' GIT_HTTP_EXPORT_ALL=1 REMOTE_USER=bench\nexec git -c safe.directory='*' http-backend\n" % root)
os.chmod(script, 0o755)
os.chdir(www)
http.server.nobody_uid = lambda: os.getuid()
http.server.ThreadingHTTPServer(("127.0.0.1", port), http.server.CGIHTTPRequestHandler).serve_forever()
