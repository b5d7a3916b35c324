# harvester service image: `harvester db upgrade`, then `harvester serve` as a non-root user.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Pango and HarfBuzz-Subset for PDF bulletins (WeasyPrint)
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY pyproject.toml README.md ./
COPY harvester ./harvester
COPY db ./db
COPY queries ./queries
RUN pip install . && rm -rf /src

RUN useradd --create-home --uid 10001 harvester \
    && mkdir -p /data && chown harvester:harvester /data
USER harvester
WORKDIR /data

EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status == 200 else 1)"

# The first start writes harvester.toml and queries/ into /data (a volume) when they are missing.
CMD ["sh", "-c", "harvester init >/dev/null && harvester db upgrade && exec harvester serve --host 0.0.0.0 --port 8080"]
