"""The WSGI entry point for gunicorn: `gunicorn -c deploy/gunicorn.conf.py kiosk.wsgi:app`.

One worker per process with gevent's worker class, as Flask-SocketIO requires (a Socket.IO session lives in the
memory of the process that accepted it); run several processes on several ports behind the load balancer, not
several workers in one. gunicorn's gevent worker patches the process before it imports this module, and the
arbiter forks the worker before anything here starts a thread (the app is not preloaded), so no fork ever happens
in a process with threads (DESIGN.md, Processes).
"""
from __future__ import annotations

from .app import create_app
from .concurrency import async_mode
from .serving import prepare_worker

if async_mode() != "gevent":  # a sync or threaded worker would hold one socket per worker thread, and stall
    raise RuntimeError("Run kiosk.wsgi under gunicorn's gevent worker: gunicorn -c deploy/gunicorn.conf.py "
                       "kiosk.wsgi:app (worker_class = 'gevent', workers = 1).")

app = create_app()
prepare_worker(app)
