"""The pure core: values in, values out. No file, socket, clock, environment or store access."""
