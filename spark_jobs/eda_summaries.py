"""What spark-submit runs for the job eda_summaries: the EDA summaries of one date's clean events.
The job is ``recsys.jobs.eda_summaries`` (shipped with --py-files); this script only calls its
``main``."""

import sys

from recsys.jobs.eda_summaries import main

if __name__ == "__main__":
    main(sys.argv[1:])
