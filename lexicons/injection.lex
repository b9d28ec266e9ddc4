# injection
