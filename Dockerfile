FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 MRMARKET_VAR_DIR=/app/var
WORKDIR /app
RUN pip install --no-cache-dir "uv==0.13.9"
COPY requirements.lock pyproject.toml ./
RUN uv pip install --system --no-cache -r requirements.lock
COPY . .
ARG APP_HASH=docker
ENV APP_HASH=${APP_HASH}
RUN SECRET_KEY=build-only python manage.py collectstatic --noinput -v0
RUN useradd --create-home mrmarket && mkdir -p /app/var && chown -R mrmarket /app/var
USER mrmarket
EXPOSE 8000
# One uvicorn process per container: socket.io's long-polling needs every request of a
# session on the process that holds it (scale with containers behind a sticky balancer).
CMD ["uvicorn", "mrmarket.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--ws", "websockets", "--no-access-log"]
