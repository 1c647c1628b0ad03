"""A real S3 API on loopback (moto's ThreadedMotoServer) for code that talks to S3 through
boto3 / dagster-aws S3Resource with AWS_ENDPOINT_URL."""

from __future__ import annotations

import socket

import boto3


class FakeS3Server:
    """`with FakeS3Server() as s3:` then point AWS_ENDPOINT_URL at `s3.endpoint_url` (see
    `environment()`), and create buckets with `s3.client().create_bucket(Bucket=...)`."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        self._server = None

    def __enter__(self) -> FakeS3Server:
        from moto.server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()

    def environment(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )
