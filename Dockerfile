# One image for the services and the console; the command picks which:
#   docker run ekspora python -m ekspora_registry   (matching, shipping, notifications likewise)
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 EKSPORA_HTTP_HOST=0.0.0.0
WORKDIR /app
COPY constraints.txt ./
COPY contracts ./contracts
COPY kit ./kit
COPY services ./services
RUN pip install --no-cache-dir -c constraints.txt ./contracts ./kit \
      ./services/registry ./services/matching ./services/shipping ./services/notifications ./services/identity ./services/console \
 && useradd --system --uid 10001 ekspora
USER ekspora
EXPOSE 8000
CMD ["python", "-m", "ekspora_registry"]
