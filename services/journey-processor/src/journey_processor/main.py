"""`journey-processor` (or `python -m journey_processor`): one worker of the engine chosen.

PROCESSOR_ENGINE picks the engine: `kafka` (the default: transactional
consume-transform-produce on confluent-kafka) or `faust` (faust-streaming). Both run the
same core; see the README for what each guarantees.
"""

from __future__ import annotations

import gc

from journey_platform.logs import configure_logging
from journey_platform.settings import load
from journey_platform.telemetry import start_telemetry
from journey_processor.settings import ProcessorSettings

# A worker holds tens of thousands of journey states as small long-lived objects, and
# every record allocates many short-lived ones: with the default thresholds the cyclic
# collector rescans the long-lived heap so often that it cost a third of the time on a
# 10,000-journey replay (bench/processor_core.py: 4,968 -> 7,374 records/s).
GC_THRESHOLDS = (100_000, 50, 1000)


def main() -> None:
    gc.set_threshold(*GC_THRESHOLDS)
    settings = load(ProcessorSettings)
    configure_logging(settings.service_name, settings.log_level)
    start_telemetry(settings)
    if settings.processor_engine == "faust":
        from journey_processor.engines.faust.app import run  # faust only when asked for
    else:
        from journey_processor.engines.kafka.worker import run
    run(settings)


if __name__ == "__main__":
    main()
