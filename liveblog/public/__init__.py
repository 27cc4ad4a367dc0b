"""What readers and other sites read: the story page, feeds, oEmbed and search-engine metadata."""
