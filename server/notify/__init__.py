""""Your turn is near": channels that deliver a notice (SMS modem, Zalo ZNS) and the sender thread."""
