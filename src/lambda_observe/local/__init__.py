"""Running a handler on a laptop: a Lambda-like context, a UDP collector, the waterfall."""
