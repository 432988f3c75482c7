"""Background work: thumbnails and images in a thread pool, scans in a subprocess, polling."""
