"""What spark-submit runs for the job train_als: tune, judge and refit ALS, and write everyone's
top-K. The job is ``recsys.jobs.train_als`` (shipped with --py-files); this script only calls
its ``main``."""

import sys

from recsys.jobs.train_als import main

if __name__ == "__main__":
    main(sys.argv[1:])
