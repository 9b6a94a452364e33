"""Browser-facing pages and bundles: the room page, its QR code, the widget, the demo shop."""
