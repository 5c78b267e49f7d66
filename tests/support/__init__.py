"""Shared test support: a real S3 server, a fault proxy, local servers, job-result and speech helpers."""
