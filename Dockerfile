# Doudi web, worker and beat image (docker-compose.yml runs it three ways, plus a one-shot migrate).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# Pango for WeasyPrint (the printed notice and decision letter) and the Noto CJK fonts they use.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/*
# Dependencies first: the layer is reused until requirements.txt changes.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# No DATABASE_URL at build time, so settings fall back to the embedded mode: collectstatic needs
# no secret and no database.
RUN python manage.py collectstatic --noinput \
    && useradd --system --uid 10001 --home-dir /app doudi \
    && mkdir -p /app/media /app/bankfiles \
    && chown doudi /app/media /app/bankfiles \
    && chmod 0700 /app/bankfiles

USER doudi
EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
