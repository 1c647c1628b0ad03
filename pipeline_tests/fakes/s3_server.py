"""A real S3 API on loopback (moto's ThreadedMotoServer) for code that talks to S3 through
boto3 (pipeline.lib.s3) with AWS_ENDPOINT_URL."""

from __future__ import annotations

import urllib.request

import boto3


class FakeS3Server:
    """`with FakeS3Server() as s3:` then point AWS_ENDPOINT_URL at `s3.endpoint_url` (see
    `environment()`), and create buckets with `s3.client().create_bucket(Bucket=...)`."""

    def __enter__(self) -> FakeS3Server:
        from moto.server import ThreadedMotoServer

        # Port 0: the kernel picks a free port as the server binds, so none can be taken meanwhile.
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        # moto keeps its buckets in process-wide state that outlives one server: start empty, so
        # a bucket left by an earlier test in the same worker cannot leak into this one.
        urllib.request.urlopen(
            urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        ).close()
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
