# harm
