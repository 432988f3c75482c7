"""Item views and painted views: the thumbnail grid, its delegate, heatmap and charts."""
