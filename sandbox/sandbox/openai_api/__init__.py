"""A fake OpenAI API for the demo and the tests (`paguito-sandbox openai --port P`)."""
