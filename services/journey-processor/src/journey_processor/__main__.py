from journey_processor.main import main

main()
