# profanity
