"""Running the platform on this machine: moto-backed AWS, the demo campaign and stream plumbing."""
