"""The console: a backend-for-frontend that people sign in to. It calls the services' HTTP APIs with
the signed-in person's token from identity, never their databases, and keeps only its sessions."""
