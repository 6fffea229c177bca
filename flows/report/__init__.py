"""What analysts read: the HTML report, the digest, and the period words they share."""
