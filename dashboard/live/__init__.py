"""The live path from the stream to the screens: the relay and the fan-out."""
