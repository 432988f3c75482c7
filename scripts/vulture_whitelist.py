"""Names the dead-code check (vulture, ./scripts/test) must not report: what a framework calls.

Qt calls the event overrides, torch calls ``forward``, SQLAlchemy the event listeners, expat the
parser handlers, the installer the entry points; TypedDict fields are read by key. Add a name
here only for such a caller, with the reason; anything else vulture reports is dead: remove it.
"""

# ruff: noqa
# fmt: off
# Qt event overrides (gui/, scripts/bench_gui.py)
paintEvent; mousePressEvent; mouseMoveEvent; mouseReleaseEvent; mouseDoubleClickEvent
wheelEvent; eventFilter; dragEnterEvent; dropEvent; hasHeightForWidth
# torch.nn.Module.__call__ (core/scan/_torch_models.py)
forward
# @event.listens_for handlers and the DB-API attribute they set (core/store/engine.py)
_on_connect; _on_begin; isolation_level
# expat parser callbacks (core/interop/cvat.py)
StartElementHandler; EndElementHandler; CharacterDataHandler; StartDoctypeDeclHandler
EntityDeclHandler; UnparsedEntityDeclHandler; ExternalEntityRefHandler
# [project.gui-scripts] entry point (pyproject.toml)
gui_main
# TypedDict fields, read by key (core/progress.py ProgressEvent, core/scan_summary.py)
label_issues; label_noise; estimated_issues; suggested_into; estimated; joint_probability
empty_classes; conflicting_label_groups; cosine_radius; sharpness_below; max_aspect
health_score; small_classes; duplicates; audit_method; train_images_per_s; noise_rate_estimate
accuracy_vs_given; total_s; embed_s; ranks
