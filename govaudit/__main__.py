from govaudit.cli import main

main()
