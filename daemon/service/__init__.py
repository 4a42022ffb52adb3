"""The application: the loop, the cycle and the use cases that apply the core's decisions."""
