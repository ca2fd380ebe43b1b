"""gunicorn settings for one Give & Take app process (venue server and scale-out tiers).

    gunicorn -c deploy/gunicorn.conf.py kiosk.wsgi:app                 # GIVETAKE_BIND=127.0.0.1:5001 by default
    GIVETAKE_BIND=127.0.0.1:5002 gunicorn -c deploy/gunicorn.conf.py kiosk.wsgi:app

Flask-SocketIO needs exactly one worker per process: a Socket.IO session lives in the memory of the worker that
accepted it. Scale by running more processes on more ports (systemd's givetake-app@<port>) behind HAProxy or
nginx, all sharing PostgreSQL and Redis.
"""
import os

# Before numpy is imported anywhere: single-threaded BLAS (the encoder runs its own native threads, and a BLAS pool
# holding a lock is what froze a forking server once; see DESIGN.md, Processes).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

bind = os.environ.get("GIVETAKE_BIND", "127.0.0.1:5001")
workers = 1
# Greenlets: one process holds 1,000+ websockets. (gevent-websocket is not needed: simple-websocket takes the
# connection's socket from gunicorn.)
worker_class = "gevent"
worker_connections = int(os.environ.get("GIVETAKE_WORKER_CONNECTIONS", "4000"))
# Not preloaded: the app (numpy, the model, the watchdog thread) loads in the worker after the fork.
preload_app = False
# Websockets and long-polling hold a request open; the arbiter's timeout is about a worker that stopped
# answering the arbiter, which gevent workers do even under long requests.
timeout = 60
graceful_timeout = 20
keepalive = 75
# Behind the balancer on loopback: trust its X-Forwarded-* (GIVETAKE_PROXY_HOPS sets the app's ProxyFix too).
forwarded_allow_ips = os.environ.get("GIVETAKE_FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = os.environ.get("GIVETAKE_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("GIVETAKE_LOG_LEVEL", "info")
proc_name = "givetake-app"
# gunicorn 24+ opens a control socket at one fixed path per user: several app processes would fight over it.
control_socket_disable = True
