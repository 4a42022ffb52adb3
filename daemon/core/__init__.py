"""The pure core: values in, values out.

No file, socket, clock, environment or store access: the service layer passes `now`, sources and
records in and applies the decisions that come back.
"""
