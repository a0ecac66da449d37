"""Stage 4, pipeline: the job spec, running it, its report, the paper's experiment and the estimate.

* :mod:`.job`: the typed job spec, job files;
* :mod:`.run`: ``prepare`` and ``run_job``;
* :mod:`.result`: what a run produced (``JobResult``);
* :mod:`.report`: the run report;
* :mod:`.experiment`: the paper's comparisons (Tables 2-5, Figure 13);
* :mod:`.estimate`: memory, disk and time of a run before it starts.
"""
