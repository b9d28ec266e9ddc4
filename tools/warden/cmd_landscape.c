int cmd_landscape(int argc, char **argv) { (void)argc; (void)argv; return 3; }
