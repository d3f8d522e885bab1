# syntax=docker/dockerfile:1
# CCHC: one image for every service. The Kubernetes Deployments choose the service with
#   nameko run --config /etc/cchc/config.yaml services.<name>.service
# (exec form, so nameko is PID 1 and receives SIGTERM); `docker run IMAGE` runs `cchc run dossiers`, which
# execs the same command. Runs as an unprivileged user; /health, /ready and /metrics on port 8000.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/cchc
COPY pyproject.toml requirements.lock README.md ./
COPY cchc ./cchc
COPY shared ./shared
COPY services ./services
# Not editable: the packages, their data (catalogue, unit files, migrations, templates) and the console
# scripts (cchc, nameko) land in /opt/cchc; the lock pins every transitive dependency.
RUN /opt/cchc/bin/pip install --constraint requirements.lock . \
    && /opt/cchc/bin/python -m compileall -q /opt/cchc/lib

FROM ${PYTHON_IMAGE}
# Pango and HarfBuzz for WeasyPrint (PDF); fonts with full Vietnamese coverage (Liberation 2 is metric-compatible
# with Times New Roman; fonts-liberation, the older one, lacks 92 Vietnamese glyphs). Debian's security updates
# replace exact versions, so they are not pinned: the base image tag fixes the release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-liberation2 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 cchc \
    && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin cchc
COPY --from=build /opt/cchc /opt/cchc
ENV PATH=/opt/cchc/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    XDG_CACHE_HOME=/tmp/.cache \
    WEB_SERVER_ADDRESS=0.0.0.0:8000
WORKDIR /tmp
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]
CMD ["cchc", "run", "dossiers"]
