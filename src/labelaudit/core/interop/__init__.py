"""Other labelling tools in and out: Label Studio, CVAT, FiftyOne (Qt-free)."""
