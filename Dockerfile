# The Jaga API image. It never starts embedded servers: DATABASE_URL and
# REDIS_URL point at real ones (see compose.yaml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY . .
RUN pip install . \
 && useradd --system --user-group --no-create-home --shell /usr/sbin/nologin jaga

USER jaga
ENV JAGA_HOST=0.0.0.0 \
    JAGA_PORT=8000
EXPOSE 8000

# Exec form: jaga is PID 1 and gets `docker stop`'s SIGTERM for a clean shutdown.
CMD ["jaga", "serve"]
