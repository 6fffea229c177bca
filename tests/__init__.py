"""The test suite: it mirrors flows/, extractors/ and warehouse/, with real servers, files and flow runs."""
