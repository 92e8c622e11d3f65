"""What spark-submit runs for the job build_interactions: the user x product interaction matrix
over the window. The job is ``recsys.jobs.build_interactions`` (shipped with --py-files); this
script only calls its ``main``."""

import sys

from recsys.jobs.build_interactions import main

if __name__ == "__main__":
    main(sys.argv[1:])
