# One image for the web service and the workers (see docker-compose.yml).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PLENARY_DATA_DIR=/data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY dashboard ./dashboard
COPY workers ./workers
COPY deploy/gunicorn.conf.py ./deploy/gunicorn.conf.py
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /data plenary \
    && mkdir -p /data && chown plenary /data
USER plenary
EXPOSE 8000

# The web service by default; the workers' services override the command.
CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py"]
