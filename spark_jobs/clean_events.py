"""What spark-submit runs for the job clean_events: clean one day's raw export files into the
events data lake. The job is ``recsys.jobs.clean_events`` (shipped with --py-files); this script
only calls its ``main``."""

import sys

from recsys.jobs.clean_events import main

if __name__ == "__main__":
    main(sys.argv[1:])
