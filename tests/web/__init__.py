"""The pages of kiosk/web (kiosk, listener, status page, door sign, QR code) in real Chromium."""
