"""The FastAPI app: RunPod's endpoint API and OpenAI's speech API over one worker, behind an optional key."""
from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from common.logs import quiet_url_loggers
from jobcore.interface import JobWorker

from .docs import add_docs
from .errors import ApiError, openai_body
from .guard import BrowserGuard, key_matches
from .jobs import JobQueue
from .metrics import metrics_text
from .openai_routes import openai_router
from .runpod_routes import runpod_router
from .settings import ServerSettings
from .webhooks import WebhookSender

WEB = Path(__file__).parent / "web"     # the page at / (plain HTML, CSS and JavaScript; no build step)
OPEN_PATHS = ("/ping", "/")            # answered without the key: the page asks for it, then sends it


def create_app(worker: JobWorker, settings: ServerSettings | None = None) -> FastAPI:
    """An app serving `worker` (anything implementing jobcore's worker interface). Its STREAMING setting picks
    the handler as handler.py does: on = RunPod's generator handler."""
    settings = settings or ServerSettings()
    quiet_url_loggers()
    sender = WebhookSender(settings.webhook_attempts, settings.webhook_retry_delay_s, settings.webhook_timeout_s,
                           settings.allow_private_webhooks)
    queue = JobQueue(worker, settings.concurrency, settings.result_ttl_s,
                     on_end=lambda job: sender.send(job.webhook, job.payload()), streaming=worker.streaming,
                     max_queued=settings.max_queued_jobs, max_retained_bytes=int(settings.max_retained_mb * 1024 ** 2))

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        queue.close()
        sender.close()

    def authorize(request: Request) -> None:
        """RunPod takes `Authorization: Bearer <key>` or the bare key; its load balancer probes /ping bare."""
        if settings.api_key is None or request.url.path in OPEN_PATHS:
            return
        if not key_matches(request.headers.get("authorization", ""), settings.api_key):
            raise ApiError(401, "missing or wrong API key", "invalid_api_key")

    app = FastAPI(title="tts-worker", lifespan=lifespan, dependencies=[Depends(authorize)], docs_url=None,
                  redoc_url=None)
    add_docs(app)
    app.state.queue, app.state.settings = queue, settings
    app.add_middleware(BrowserGuard, host=settings.host, api_key=settings.api_key, allowed_hosts=settings.allowed_hosts)
    runpod_api = runpod_router(queue, settings)
    app.include_router(runpod_api)
    app.include_router(runpod_api, prefix="/v2/{endpoint_id}", include_in_schema=False)   # where RunPod's SDK (Endpoint) calls
    app.include_router(openai_router(worker, queue))
    app.mount("/web", StaticFiles(directory=WEB), name="web")   # static files: outside the key check, no secrets

    @app.get("/", include_in_schema=False)
    async def page():
        """The web page: voices, speak, dialog and document, over the routes below."""
        return FileResponse(WEB / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/metrics", include_in_schema=False)
    async def metrics():
        """Prometheus' text format: jobs, latencies, audio seconds, caches, queue (with SERVER_API_KEY: the key)."""
        body, kind = metrics_text(worker, queue)
        return Response(body, media_type=kind)

    @app.get("/ping")
    async def ping():
        """RunPod load-balancing health check: 200 once serving (the model loads before the port opens)."""
        return {"status": "healthy"}

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        body = openai_body(exc) if request.url.path.startswith("/v1/") else {"error": exc.message}
        return JSONResponse(body, status_code=exc.status)

    return app
