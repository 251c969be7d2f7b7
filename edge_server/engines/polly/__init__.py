"""Amazon Polly as a room's synthesizer: ``options`` and ``voices`` are pure; ``errors`` and
``synthesizer`` talk to boto3 and amazon-polly-streaming."""
