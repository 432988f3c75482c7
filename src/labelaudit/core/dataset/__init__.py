"""Import of image datasets: folder-per-class trees and CSV manifests, validation, duplicates."""
