"""Local protocol fakes of the AWS services the cloud engines use (tests and benchmarks only).

Every fake listens on 127.0.0.1 and speaks the real wire protocol, so the real SDKs (the
``amazon-transcribe`` HTTP/2 client, boto3) are what the tests drive.
"""
