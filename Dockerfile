FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

# GNU gettext's msgfmt compiles the translations (locale/*.po into .mo, not committed).
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/*

COPY pyproject.toml README.md ./
COPY config ./config
COPY crm ./crm
COPY zoom_sandbox ./zoom_sandbox
RUN pip install .
COPY . .
RUN DJANGO_ENV=development python manage.py collectstatic --noinput --verbosity 0 \
    && DJANGO_ENV=development python manage.py compilemessages --verbosity 0

RUN useradd --create-home crm && mkdir -p /app/var && chown -R crm /app/var
USER crm
EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
