//! Building a Dockerfile with a container engine (podman or docker).
