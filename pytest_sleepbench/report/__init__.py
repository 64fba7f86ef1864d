"""Reports: timelines drawn as SVG, the HTML page, the gradebook in every format, and the
atomic writes that put them on disk. It draws what ``core`` measured and ``grading`` graded,
and knows nothing of pytest."""
